import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';

let commonPasswords: ReadonlySet<string> | undefined;

/**
 * The ~49,000 most common passwords of zxcvbn-ts's maintained common-language dictionary (leaked-password frequency
 * lists), lower-cased. Built on first use: most processes never change a password.
 */
function commonPasswordSet(): ReadonlySet<string> {
  commonPasswords ??= new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));
  return commonPasswords;
}

/**
 * Why `password` is too common, or null. Beyond the length and whitespace rules of the request schema, it refuses a
 * password that is on the common list (ignoring case), one that is a common password padded with digits or symbols
 * at the end (`password1234!`, `monkey123456`), and one character repeated.
 */
export function commonPasswordProblem(password: string): string | null {
  const lower = password.toLowerCase();
  const list = commonPasswordSet();
  if (list.has(lower)) return 'is one of the most common passwords';
  const stem = lower.replace(/[\d\W_]+$/u, '');
  if (stem !== lower && stem.length > 0 && list.has(stem)) {
    return 'is a common password with digits or symbols added';
  }
  if (/^(.)\1*$/su.test(password)) return 'is one character repeated';
  return null;
}

/** Throws PASSWORD_TOO_COMMON (400, the field in details) before any hashing is spent on a password nobody should use. */
export function assertPasswordAllowed(password: string): void {
  const problem = commonPasswordProblem(password);
  if (problem === null) return;
  throw new AppError(ErrorCode.PASSWORD_TOO_COMMON, `The password ${problem}; choose another`, [
    { path: 'password', message: problem },
  ]);
}
