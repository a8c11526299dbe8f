import { type EndpointAddress, type EndpointType, parseEndpointUrl, parseUpstreamUrl } from '@gatehouse/contracts';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';

// The URL rules live in @gatehouse/contracts (shared with the CLI, the dashboard and the engine); here their
// problems become the API's 400s, each placed on the field it is about.

export function requireEndpointUrl(text: string, type: EndpointType): EndpointAddress {
  const checked = parseEndpointUrl(text, type);
  if (!checked.ok) {
    throw new AppError(ErrorCode.ENDPOINT_URL_INVALID, checked.problem, [{ path: 'url', message: checked.problem }]);
  }
  return checked.value;
}

export function requireUpstreamUrl(text: string): string {
  const checked = parseUpstreamUrl(text);
  if (!checked.ok) {
    throw new AppError(ErrorCode.ENDPOINT_UPSTREAM_INVALID, checked.problem, [
      { path: 'upstream_url', message: checked.problem },
    ]);
  }
  return checked.value;
}
