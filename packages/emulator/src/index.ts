export * as Emulator from "./Emulator.js"
export * as Scenario from "./Scenario.js"
