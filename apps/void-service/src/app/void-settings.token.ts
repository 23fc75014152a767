/** The service's parsed settings (VoidServiceSettings): supervisor credentials, clearing schedules, void rules. */
export const VOID_SETTINGS = Symbol('VOID_SETTINGS');
