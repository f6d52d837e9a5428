export * from './panel-link';
export * from './transport';
