import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiSecurity } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { HttpErrorCode } from '@pos/contracts';
import { ApiError } from './api-errors';
import { API_KEY_HEADER, hashApiKey, MERCHANT_API_KEY_SCHEME } from './merchant-auth';
import { SERVICE_CONFIG } from './service.module';

/** Operator roles, each allowed what the ones before it are: a viewer reads, an operator requests, an approver approves. */
export const OPERATOR_ROLES = ['viewer', 'operator', 'approver'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** The OpenAPI security scheme of operator tokens (`Authorization: Bearer <token>`). */
export const OPERATOR_TOKEN_SCHEME = 'operator-token';
/** What CallerAuthGuard answers before a handler runs, on every route behind it. */
export const CALLER_AUTH_ERROR_CODES = ['UNAUTHENTICATED'] as const satisfies readonly HttpErrorCode[];

export interface OperatorIdentity {
  readonly name: string;
  readonly role: OperatorRole;
}

const OPERATOR_ENTRY = /^([a-z][a-z0-9._-]{0,63}):([a-z]+):([0-9a-f]{64})$/;

/**
 * `OPERATOR_TOKENS=alice:operator:<sha256 hex>,bob:approver:<sha256 hex>`: each operator's bearer
 * token, stored hashed, with the operator's name and role. Repeat a name for a second token
 * (rotation); one name has one role.
 */
export const operatorAuthConfigShape = {
  OPERATOR_TOKENS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const byHash = new Map<string, OperatorIdentity>();
      const roleOf = new Map<string, OperatorRole>();
      for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
        const match = OPERATOR_ENTRY.exec(entry);
        const role = match?.[2] as OperatorRole | undefined;
        if (!match || !OPERATOR_ROLES.includes(role as OperatorRole)) {
          ctx.addIssue({ code: 'custom', message: `expected name:${OPERATOR_ROLES.join('|')}:sha256hex, got "${entry.slice(0, 24)}…"` });
          return z.NEVER;
        }
        const [, name, , hash] = match;
        if (roleOf.has(name) && roleOf.get(name) !== role) {
          ctx.addIssue({ code: 'custom', message: `operator ${name} is given two roles` });
          return z.NEVER;
        }
        if (byHash.has(hash)) {
          ctx.addIssue({ code: 'custom', message: `one token hash is given twice (operator ${name})` });
          return z.NEVER;
        }
        roleOf.set(name, role as OperatorRole);
        byHash.set(hash, { name, role: role as OperatorRole });
      }
      return byHash;
    }),
};

/** Who made a request: a merchant by its API key (terminals carry their merchant's key), or an operator by token. */
export type Principal = { readonly kind: 'merchant'; readonly merchantId: string } | ({ readonly kind: 'operator' } & OperatorIdentity);

/** The authenticated caller and where the request came from (the peer's address). */
export interface Caller {
  readonly principal: Principal;
  readonly remoteAddress: string | null;
}

/** Who may use a route: merchants (by key) and operators of at least a role. */
export interface CallerAccess {
  readonly merchants: boolean;
  /** The least operator role allowed; none: no operator. */
  readonly operatorsFrom?: OperatorRole;
}

const ACCESS = 'pos:caller-access';

export function hasRole(identity: OperatorIdentity, least: OperatorRole): boolean {
  return OPERATOR_ROLES.indexOf(identity.role) >= OPERATOR_ROLES.indexOf(least);
}

/** The roles that reach `least`, for messages. */
export function rolesFrom(least: OperatorRole): OperatorRole[] {
  return OPERATOR_ROLES.slice(OPERATOR_ROLES.indexOf(least));
}

interface CallerRequest extends Request {
  caller?: Caller;
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Resolves `Authorization: Bearer <operator token>` or `X-Api-Key: <merchant key>` to a caller;
 * no or unknown credentials get 401 UNAUTHENTICATED, a caller the route does not admit 403
 * ROLE_FORBIDDEN (details.allowed says who may). A request carrying both is refused: it would not
 * be clear on whose behalf it acts.
 */
@Injectable()
export class CallerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(SERVICE_CONFIG) private readonly config: { MERCHANT_API_KEYS: Map<string, string>; OPERATOR_TOKENS: Map<string, OperatorIdentity> },
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<CallerRequest>();
    const access = this.reflector.getAllAndOverride<CallerAccess>(ACCESS, [context.getHandler(), context.getClass()]);
    const principal = this.principalOf(request);
    const admitted = principal.kind === 'merchant' ? access.merchants : access.operatorsFrom !== undefined && hasRole(principal, access.operatorsFrom);
    if (!admitted) {
      const allowed = [...(access.merchants ? ['merchant'] : []), ...(access.operatorsFrom ? rolesFrom(access.operatorsFrom) : [])];
      const who = principal.kind === 'merchant' ? 'a merchant key' : `the role ${principal.role}`;
      throw new ApiError('ROLE_FORBIDDEN', `${who} may not use this route`, { allowed });
    }
    request.caller = { principal, remoteAddress: request.socket.remoteAddress ?? null };
    return true;
  }

  private principalOf(request: Request): Principal {
    const authorization = request.header('authorization');
    const key = request.header(API_KEY_HEADER);
    if (authorization !== undefined && key !== undefined) throw new ApiError('UNAUTHENTICATED', 'give either an operator token or a merchant API key, not both');
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      const operator = token ? this.config.OPERATOR_TOKENS.get(hashApiKey(token)) : undefined;
      if (!operator) throw new ApiError('UNAUTHENTICATED', 'the bearer token is not a known operator token');
      return { kind: 'operator', ...operator };
    }
    const merchantId = key ? this.config.MERCHANT_API_KEYS.get(hashApiKey(key)) : undefined;
    if (!merchantId) throw new ApiError('UNAUTHENTICATED', 'an operator token (Authorization: Bearer) or a merchant key (X-Api-Key) is required');
    return { kind: 'merchant', merchantId };
  }
}

/** The caller CallerAuthGuard authenticated. */
export const AuthenticatedCaller = createParamDecorator((_: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<CallerRequest>().caller;
  if (!caller) throw new ApiError('UNAUTHENTICATED', 'not authenticated');
  return caller;
});

/**
 * A route (or every route of a controller) for these callers: the guard, and the OpenAPI security
 * requirements (either scheme the route admits). Routes that refuse some caller also declare
 * ROLE_FORBIDDEN with ApiErrorCodes.
 */
export function CallersAllowed(access: CallerAccess): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(ACCESS, access),
    UseGuards(CallerAuthGuard),
    ...(access.operatorsFrom ? [ApiSecurity(OPERATOR_TOKEN_SCHEME)] : []),
    ...(access.merchants ? [ApiSecurity(MERCHANT_API_KEY_SCHEME)] : []),
  );
}
