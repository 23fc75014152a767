import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable, UseGuards } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import { HttpErrorCode } from '@pos/contracts';
import { ApiError } from './api-errors';
import { SERVICE_CONFIG } from './service.module';

export const API_KEY_HEADER = 'x-api-key';
/** The OpenAPI security scheme of merchant API keys. */
export const MERCHANT_API_KEY_SCHEME = 'merchant-api-key';
/** What MerchantAuthGuard answers; the OpenAPI document lists it on every route behind the guard. */
export const MERCHANT_AUTH_ERROR_CODES = ['UNAUTHENTICATED'] as const satisfies readonly HttpErrorCode[];

/** sha256 of an API key, hex: the only form in which keys are configured or compared. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * `MERCHANT_API_KEYS=M100:<sha256 hex>,M200:<sha256 hex>`: each merchant's API key, stored hashed.
 * A merchant may have several keys (rotation): repeat the merchant id.
 */
export const merchantAuthConfigShape = {
  MERCHANT_API_KEYS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const byHash = new Map<string, string>();
      for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
        const match = /^([A-Za-z0-9][A-Za-z0-9._:-]{0,63}):([0-9a-f]{64})$/.exec(entry);
        if (!match) {
          ctx.addIssue({ code: 'custom', message: `expected merchantId:sha256hex, got "${entry.slice(0, 20)}…"` });
          return z.NEVER;
        }
        byHash.set(match[2], match[1]);
      }
      return byHash;
    }),
};

interface AuthenticatedRequest extends Request {
  merchantId?: string;
}

/** Resolves the `X-Api-Key` header to a merchant; unknown or missing keys get 401. */
@Injectable()
export class MerchantAuthGuard implements CanActivate {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: { MERCHANT_API_KEYS: Map<string, string> }) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = request.header(API_KEY_HEADER);
    const merchantId = key ? this.config.MERCHANT_API_KEYS.get(hashApiKey(key)) : undefined;
    if (!merchantId) throw new ApiError('UNAUTHENTICATED', 'a valid X-Api-Key header is required');
    request.merchantId = merchantId;
    return true;
  }
}

/** The merchant the request authenticated as (use with MerchantAuthGuard). */
export const AuthenticatedMerchant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const merchantId = context.switchToHttp().getRequest<AuthenticatedRequest>().merchantId;
  if (!merchantId) throw new ApiError('UNAUTHENTICATED', 'not authenticated');
  return merchantId;
});

/** The routes of a controller (or one route) are for merchants, by API key: the guard and its OpenAPI security together. */
export function MerchantAuthenticated(): ClassDecorator & MethodDecorator {
  return applyDecorators(UseGuards(MerchantAuthGuard), ApiSecurity(MERCHANT_API_KEY_SCHEME));
}
