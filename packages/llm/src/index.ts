export * as ChatClient from "./ChatClient.js"
