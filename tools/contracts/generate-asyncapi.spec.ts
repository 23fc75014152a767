import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { allTopics, CloudEventHeaders, formatTraceparent, isSourceAllowed, MessageContract, MessageContracts, newTrace, ServiceSources, UPSTREAM } from '@pos/contracts';
import { decodeEnvelope, encodeEnvelope } from '@pos/messaging';
import { ASYNCAPI_PATH, buildAsyncApiDocument, renderAsyncApiDocument } from './generate-asyncapi';

interface Doc {
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  components: {
    messages: Record<string, { name: string; headers: { required: string[]; properties: Record<string, { const?: string }> }; payload: { $ref: string } }>;
    schemas: Record<string, unknown>;
  };
}

/** A source the contract allows for the message: its service's, or an upstream gateway's. */
const sourceOf = (contract: MessageContract): string => (contract.producer === UPSTREAM ? '/acme-pos-gateway' : contract.producer);

const committed = () => readFileSync(ASYNCAPI_PATH, 'utf8');
const resolve = <T>(doc: Doc, ref: string): T =>
  ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], doc) as T;

describe('the AsyncAPI document (docs/asyncapi.json)', () => {
  it('is what the generator produces from the contracts now (regenerate with tools/contracts/generate-asyncapi.ts)', () => {
    expect(committed()).toEqual(renderAsyncApiDocument());
  });

  it('is a valid AsyncAPI 3 document: no errors, no warnings from the official parser', async () => {
    const { document, diagnostics } = await new Parser().parse(committed());
    const problems = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(document?.version()).toMatch(/^3\./);
  });

  it('lists every topic the code produces or consumes (Topics and their dead-letter topics), and no other', async () => {
    const { document } = await new Parser().parse(committed());
    const addresses = document?.channels().all().map((c) => c.address()) ?? [];
    expect([...addresses].sort()).toEqual([...allTopics()].sort());
  });

  it('gives every message of the contracts its topic, CloudEvents type and exact JSON Schema', () => {
    const doc = buildAsyncApiDocument() as unknown as Doc;
    for (const contract of MessageContracts) {
      const channel = Object.values(doc.channels).find((c) => c.address === contract.topic);
      const refs = Object.values(channel?.messages ?? {}).map((m) => resolve<Doc['components']['messages'][string]>(doc, m.$ref));
      const message = refs.find((m) => m.name === contract.type);
      expect(message).toBeDefined();
      expect(message?.headers.properties[CloudEventHeaders.type].const).toBe(contract.type);
      expect(resolve(doc, message?.payload.$ref ?? '')).toEqual(JSON.parse(JSON.stringify(contract.schema)));
    }
  });

  it('requires exactly the headers the consumers require', () => {
    const doc = buildAsyncApiDocument() as unknown as Doc;
    const contract = MessageContracts[0];
    const message = Object.values(doc.components.messages).find((m) => m.name === contract.type);
    const encoded = encodeEnvelope(contract.topic, {
      id: 'e-1', type: contract.type, source: '/test', time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100', data: {},
    });
    const inbound = { topic: contract.topic, partition: 0, offset: '0', key: 'M100', value: Buffer.from('{}'), timestamp: 0 };
    for (const header of message?.headers.required ?? []) {
      const headers: Record<string, string> = { ...encoded.headers };
      delete headers[header];
      // Each header the document calls required is one whose absence the consumer refuses.
      expect(decodeEnvelope({ ...inbound, headers }).ok).toBe(false);
    }
    const optional = Object.keys(encoded.headers).filter((h) => !message?.headers.required.includes(h));
    for (const header of optional) {
      const headers: Record<string, string> = { ...encoded.headers };
      delete headers[header];
      expect(decodeEnvelope({ ...inbound, headers }).ok).toBe(true);
    }
  });

  it('has header schemas that accept what the platform itself sends', () => {
    const doc = buildAsyncApiDocument() as unknown as Doc;
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    for (const contract of MessageContracts) {
      const message = Object.values(doc.components.messages).find((m) => m.name === contract.type);
      const { headers } = encodeEnvelope(contract.topic, {
        id: 'e-1', type: contract.type, source: sourceOf(contract), time: '2026-11-27T14:59:59+08:00', schemaVersion: contract.schemaVersion, key: 'M100', subject: 'x', data: {},
        traceparent: formatTraceparent(newTrace()),
      });
      expect(headers[CloudEventHeaders.traceparent]).toBeDefined();
      expect(ajv.validate(message?.headers as object, headers)).toBe(true);
    }
  });

  it('allows in ce_source exactly the sources the consumers accept', () => {
    const doc = buildAsyncApiDocument() as unknown as Doc;
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    const candidates = [...Object.values(ServiceSources), '/acme-pos-gateway'];
    for (const contract of MessageContracts) {
      const message = Object.values(doc.components.messages).find((m) => m.name === contract.type);
      for (const source of candidates) {
        const { headers } = encodeEnvelope(contract.topic, {
          id: 'e-1', type: contract.type, source, time: '2026-11-27T14:59:59+08:00', schemaVersion: contract.schemaVersion, key: 'M100', data: {},
        });
        expect({ type: contract.type, source, documented: ajv.validate(message?.headers as object, headers) }).toEqual({
          type: contract.type,
          source,
          documented: isSourceAllowed(contract.producer, source),
        });
      }
    }
  });
});
