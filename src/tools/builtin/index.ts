import type { Tool } from '../types';
import { calculateTool } from './calculate';
import { getCurrentTimeTool } from './current-time';

export { calculateTool } from './calculate';
export { getCurrentTimeTool, isoInTimeZone } from './current-time';
export { ArithmeticError, evaluateArithmetic } from './arithmetic';

/** The tools every server has unless told otherwise: `get_current_time` and `calculate`. */
export const builtinTools: readonly Tool[] = [getCurrentTimeTool, calculateTool];
