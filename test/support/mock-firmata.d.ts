// mock-firmata ships no types; this is the part the tests use.
declare module 'mock-firmata' {
  import { EventEmitter } from 'node:events';
  export class Firmata extends EventEmitter {
    constructor(opts?: object);
    name: string;
    isReady: boolean;
    pins: object[];
    digitalWrite(pin: number, value: number): void;
    analogWrite(pin: number, value: number): void;
    servoWrite(pin: number, value: number): void;
    analogRead(pin: number, cb: (value: number) => void): void;
    digitalRead(pin: number, cb: (value: number) => void): void;
    pinMode(pin: number, mode: number): void;
    [method: string]: unknown;
  }
}
