export { COLLECTIVE_NAMES, isPeerAlgorithm, isPowerOfTwo, peersOf, type Collective, type CollectiveName, type PeerAlgorithm, type PeerLink } from './collective';
export { doublingSum, halvingDoublingAverage } from './halving-doubling';
export { partRange, ringAllReduce, ringAverage, ringSum, type RingOptions } from './ring';
export { Mailbox, memoryLinks } from './memory';
export { PeerCollective } from './peer-collective';
