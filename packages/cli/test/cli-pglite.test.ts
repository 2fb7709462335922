import { cliSuite } from "./suite.js"

cliSuite("pglite")
