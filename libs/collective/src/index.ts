export { COLLECTIVE_NAMES, type Collective, type CollectiveName } from './collective';
export { partRange, ringAllReduce, ringAverage, ringSum, type RingLink, type RingOptions } from './ring';
export { Mailbox, RingCollective, memoryRing } from './memory';
