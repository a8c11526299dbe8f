import { describe, expect, it } from 'vitest';
import { AppError } from '../common/app-error';
import { assertPasswordAllowed, commonPasswordProblem } from './password-policy';

describe('password policy', () => {
  it('refuses the most common passwords, ignoring case', () => {
    expect(commonPasswordProblem('password1234')).toMatch(/most common/);
    expect(commonPasswordProblem('QWERTY123456')).toMatch(/most common/);
    expect(commonPasswordProblem('1qaz2wsx3edc')).toMatch(/most common/);
  });

  it('refuses a common password padded with digits or symbols, and one character repeated', () => {
    expect(commonPasswordProblem('monkey12345678')).toMatch(/digits or symbols/);
    expect(commonPasswordProblem('Dragon!!!!2024')).toMatch(/digits or symbols/);
    expect(commonPasswordProblem('aaaaaaaaaaaa')).toMatch(/repeated/);
  });

  it('accepts passphrases and the passwords the docs and tests use', () => {
    for (const password of ['correct horse battery staple', 'a-long-password', 'admin-password-1234', 'k8#Vq!m2Lz9@']) {
      expect(commonPasswordProblem(password), password).toBeNull();
    }
  });

  it('throws PASSWORD_TOO_COMMON (400) with the field in details', () => {
    expect(() => assertPasswordAllowed('password1234')).toThrow(AppError);
    try {
      assertPasswordAllowed('password1234');
    } catch (error) {
      expect(error).toMatchObject({ code: 'PASSWORD_TOO_COMMON', status: 400, details: [{ path: 'password' }] });
    }
  });
});
