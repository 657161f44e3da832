// Two edge replicas of one pool with pbx.phoneRouting: path (see replica-suite.ts).
import { replicaSuite } from './replica-suite.ts';

replicaSuite('path');
