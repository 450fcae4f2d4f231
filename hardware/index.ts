// Hardware next to a gateway: a Firmata board through johnny-five (sensors, a trigger,
// actuators) and a camera, all without Node-RED so tests and tools can use them directly.
export * from './board';
export * from './sensors';
export * from './actuators';
export * from './image';
export * from './camera';
