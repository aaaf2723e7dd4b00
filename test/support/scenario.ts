// What a scenario file's load would say: the message of the error `parseScenario` throws for
// `data` (as if it were read from x.yaml), or '' when it loads. For the tests that check a
// scenario section refuses bad input with the file, the path and the fix.
import { parseScenario } from '../../src/drills/scenario';

export function scenarioProblems(data: unknown): string {
  try {
    parseScenario(data, 'x.yaml');
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}
