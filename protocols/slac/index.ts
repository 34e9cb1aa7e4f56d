export * from './frame.ts';
export * from './messages.ts';
export * from './nid.ts';
export * from './build.ts';
