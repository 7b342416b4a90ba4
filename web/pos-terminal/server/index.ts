// The public surface of @pos/pos-terminal: its static server (the page itself is built by Vite from src/).
export { createTerminalServer, type SiteConfig, type TerminalServerOptions } from "./terminal-server.js";
