import * as t from 'io-ts';
import { defineTool } from '../types';
import { arithmeticNames, evaluateArithmetic } from './arithmetic';

/**
 * `calculate`: evaluates arithmetic exactly as written, so the model need not do sums itself.
 * It never evaluates code: see {@link evaluateArithmetic}.
 */
export const calculateTool = defineTool({
  name: 'calculate',
  description:
    'Evaluate an arithmetic expression: + - * / % ^ (power), ! (factorial), parentheses, ' +
    `functions ${arithmeticNames.functions.join(', ')} and constants ${arithmeticNames.constants.join(', ')}.`,
  parameters: t.strict({ expression: t.string }),
  execute: ({ expression }) => ({ expression, result: evaluateArithmetic(expression) }),
});
