import { Testing } from "cdktf";

// Registers cdktf's matchers (toHaveResourceWithProperties, ...).
Testing.setupJest();
