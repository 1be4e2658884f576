export { COLLECTIVE_NAMES, collectiveNeeds, isPeerAlgorithm, isPowerOfTwo, peerAlgorithmFor, peersOf, type Collective, type CollectiveName, type CollectiveNeeds, type PeerAlgorithm, type PeerLink } from './collective';
export { doublingSum, halvingDoublingAverage } from './halving-doubling';
export { partRange, ringAllReduce, ringAverage, ringSum, type RingOptions } from './ring';
export { Mailbox, memoryLinks } from './memory';
export { PeerCollective } from './peer-collective';
export { SHARED_SUM_CAPACITY, SharedMemoryCollective, abortSharedMemory, sharedMemoryBuffers, type SharedMemoryBuffers } from './shared-memory';
