export * from './gpio';
export * from './libgpiod';
export * from './pi-config';
export * from './ble-adapter';
export * from './hardware';
export * from './wiring-doc';
