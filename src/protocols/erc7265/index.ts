/**
 * Protocols / ERC-7265 — circuit breakers: the EIP's ABI (and Firebreak's extensions), a reader,
 * and the response levers (trip, mark not operational) as pure call builders.
 */
export * from './abi';
export * from './actions';
export * from './reader';
