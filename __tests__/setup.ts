import "./support/plain-token-traces";
import { Testing } from "cdktf";
// Declares the matchers' types on jest's expect.
import "cdktf/lib/testing/adapters/jest";

// Registers cdktf's matchers (toHaveResourceWithProperties, ...).
Testing.setupJest();
