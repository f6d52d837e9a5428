export * from './frame';
export { IsonasAsciiParser, ISONAS_MAX_DIGITS, ISONAS_MIN_DIGITS } from './isonas-ascii';
export { Rdm6300Parser, rdm6300Frame } from './rdm6300';
export * from './badge-serial';
export * from './keypad';
export * from './keypad-serial';
export * from './contact';
export { DEFAULT_BAUD_RATE, type SerialPortOptions } from './serial-port';
export { SerialLine, type SerialLineOptions } from './serial-line';
