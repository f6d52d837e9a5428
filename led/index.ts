export * from './model';
export * from './engine';
export { RecordingIndicatorDriver, type IndicatorStep } from './drivers/recording';
export {
  ConsoleIndicatorDriver,
  statusLine,
  type ConsoleIndicatorOptions,
} from './drivers/console';
export { TwoLedIndicatorDriver, type IndicatorLine, type OutputLines } from './drivers/lines';
export { situationTable } from './describe';
