import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Static, TObject } from '@sinclair/typebox';
import { SupervisorAuthorisationRequest, SupervisorCredential } from '@pos/contracts';
import { ApiError } from '@pos/service-runtime';

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);

/** A checker of an HTTP-only request shape of the contracts: the value, typed, or 400 VALIDATION_FAILED naming the field. */
function checkerOf<T extends TObject>(schema: T, at: string): (value: unknown) => Static<T> {
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return value as Static<T>;
    const detail = (validate.errors ?? []).slice(0, 10).map((e) => `${at}${e.instancePath || (at ? '' : '/')} ${e.message ?? 'is invalid'}`).join('; ');
    throw new ApiError('VALIDATION_FAILED', detail);
  };
}

/** The supervisor of a void request over HTTP, when it is the credential itself. */
export const supervisorCredentialOf = checkerOf(SupervisorCredential, '/supervisor');
export const supervisorAuthorisationRequestOf = checkerOf(SupervisorAuthorisationRequest, '');
