/** The API's rule for passwords (apps/api/src/users/users.dto.ts), checked in forms before a round trip. */
export const minimumPasswordLength = 12;

export function describePasswordProblem(password: string): string | null {
  return password.length < minimumPasswordLength ? `Use at least ${minimumPasswordLength} characters.` : null;
}
