/**
 * Protocols / Firebreak — Firebreak's own on-chain parts: typed ABIs, deployers, and the
 * GuardianHub call builders and readers. The ERC-7265 breaker's generic reader and actions live in
 * `protocols/erc7265`.
 */
export * from './abi';
export * from './deploy';
export * from './guardian-hub';
