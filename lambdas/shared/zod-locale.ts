// English messages for zod's tree-shakeable "mini" build, which the Lambdas use because the full build adds
// 450 KB to each bundle. Imported for its effect by every module that validates.
import { config } from "zod/mini";
import { en } from "zod/locales";

config(en());
