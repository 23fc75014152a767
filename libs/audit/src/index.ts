export * from './lib/audit-trail';
export * from './lib/audit-trail.migration';
export * from './lib/audit-trail-grants.migration';
