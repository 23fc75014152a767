import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { contractFor, EventEnvelope, isSourceAllowed, MessageContract, MessageContracts } from '@pos/contracts';

export type ValidationResult =
  | { readonly ok: true; readonly contract: MessageContract }
  | {
      readonly ok: false;
      readonly reason: 'UNKNOWN_EVENT_TYPE' | 'UNSUPPORTED_SCHEMA_VERSION' | 'SCHEMA_VIOLATION' | 'FORGED_SOURCE' | 'KEY_MISMATCH';
      readonly detail: string;
    };

export interface MessageValidatorOptions {
  /** The `ce_source`s a deployment accepts commands from (KAFKA_UPSTREAM_SOURCES); see isSourceAllowed. */
  readonly upstreamSources?: readonly string[];
  readonly contracts?: readonly MessageContract[];
}

/** Checks a payload against the JSON Schema its contract publishes; producers and consumers both use it. */
export class MessageValidator {
  private readonly validators = new Map<MessageContract, ValidateFunction>();
  private readonly upstreamSources?: readonly string[];

  constructor({ upstreamSources, contracts = MessageContracts }: MessageValidatorOptions = {}) {
    this.upstreamSources = upstreamSources;
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

  /**
   * For consumers: what the contract asks of a received event beyond its payload's schema. Its
   * `ce_source` must be one the contract allows for the type, checked first so that a forged
   * message is reported as such whatever it carries; and its key must be the payload's
   * `merchantId`, where the payload has one, or the merchant's order would rest on a lie.
   */
  validateEvent(topic: string, envelope: EventEnvelope<unknown>): ValidationResult {
    const contract = contractFor(topic, envelope.type);
    if (contract && !isSourceAllowed(contract.producer, envelope.source, this.upstreamSources)) {
      const allowed = contract.producer === 'upstream' ? 'an upstream system' : contract.producer;
      return { ok: false, reason: 'FORGED_SOURCE', detail: `${envelope.type} from ${envelope.source.slice(0, 200)}: only ${allowed} may send it` };
    }
    const result = this.validate(topic, envelope.type, envelope.schemaVersion, envelope.data);
    if (!result.ok) return result;
    const merchantId = (envelope.data as { merchantId?: unknown }).merchantId;
    if (typeof merchantId === 'string' && merchantId !== envelope.key) {
      return { ok: false, reason: 'KEY_MISMATCH', detail: `the key ${envelope.key.slice(0, 64)} is not the payload's merchantId ${merchantId}` };
    }
    return result;
  }

  /** For producers: a payload that does not match its own contract is a bug, never sent. */
  assertValid(topic: string, type: string, data: unknown): void {
    const contract = contractFor(topic, type);
    const result = this.validate(topic, type, contract?.schemaVersion ?? 1, data);
    if (!result.ok) throw new Error(`refusing to produce ${type} on ${topic}: ${result.reason}: ${result.detail}`);
  }
}
