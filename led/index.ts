export * from './model';
export * from './engine';
export { RecordingIndicatorDriver, type IndicatorStep } from './drivers/recording';
export {
  ConsoleIndicatorDriver,
  statusLine,
  type ConsoleIndicatorOptions,
} from './drivers/console';
