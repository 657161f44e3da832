// Two edge replicas of one pool with pbx.phoneRouting: contact (see replica-suite.ts).
import { replicaSuite } from './replica-suite.ts';

replicaSuite('contact');
