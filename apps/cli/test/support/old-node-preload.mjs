// Makes the process report Node 20.11.1 (the version a user's shell often still has), for the bins' version check.
Object.defineProperty(process.versions, "node", { value: "20.11.1" })
