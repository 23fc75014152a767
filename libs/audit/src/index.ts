export * from './lib/audit-trail';
export * from './lib/audit-trail.migration';
