export * from './codes';
export * from './check';
export * from './packet';
export * from './messages';
export * from './secure-channel';
export * from './channel';
export * from './pd';
export * from './cp';
