import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { contractFor, MessageContract, MessageContracts } from '@pos/contracts';

export type ValidationResult =
  | { readonly ok: true; readonly contract: MessageContract }
  | {
      readonly ok: false;
      readonly reason: 'UNKNOWN_EVENT_TYPE' | 'UNSUPPORTED_SCHEMA_VERSION' | 'SCHEMA_VIOLATION';
      readonly detail: string;
    };

/** Checks a payload against the JSON Schema its contract publishes; producers and consumers both use it. */
export class MessageValidator {
  private readonly validators = new Map<MessageContract, ValidateFunction>();

  constructor(contracts: readonly MessageContract[] = MessageContracts) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    for (const contract of contracts) this.validators.set(contract, ajv.compile(contract.schema));
  }

  validate(topic: string, type: string, schemaVersion: number, data: unknown): ValidationResult {
    const contract = contractFor(topic, type);
    if (!contract) return { ok: false, reason: 'UNKNOWN_EVENT_TYPE', detail: `${type} is not a message of ${topic}` };
    if (schemaVersion > contract.schemaVersion) {
      return {
        ok: false,
        reason: 'UNSUPPORTED_SCHEMA_VERSION',
        detail: `${type} schema version ${schemaVersion} is newer than the supported ${contract.schemaVersion}`,
      };
    }
    const validate = this.validators.get(contract);
    if (!validate) throw new Error(`no validator for ${type}`);
    if (validate(data)) return { ok: true, contract };
    const detail = (validate.errors ?? [])
      .slice(0, 10)
      .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
      .join('; ');
    return { ok: false, reason: 'SCHEMA_VIOLATION', detail };
  }

  /** For producers: a payload that does not match its own contract is a bug, never sent. */
  assertValid(topic: string, type: string, data: unknown): void {
    const contract = contractFor(topic, type);
    const result = this.validate(topic, type, contract?.schemaVersion ?? 1, data);
    if (!result.ok) throw new Error(`refusing to produce ${type} on ${topic}: ${result.reason}: ${result.detail}`);
  }
}
