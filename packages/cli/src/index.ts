export * as Cli from "./Cli.js"
export * as Output from "./Output.js"
