/**
 * Pure libraries the workflows use, preloaded into the workflow sandbox (worker/build-bundle.ts) so that every workflow
 * of a worker thread shares one evaluation of them instead of evaluating them again per cached run.
 *
 * @noble/hashes (processes/facts.ts: the facts version) builds its SHA-2 constant tables and scratch buffers as
 * typed arrays when its module is evaluated: a dozen off-heap buffers per cached run (about 55 KB). It keeps no
 * state between calls (a hash runs synchronously, start to end, so its scratch buffers are free again before any
 * other workflow code runs), and the frozen exports are functions that it never reassigns.
 *
 * Only what has no per-workflow state belongs here: what a preloaded module exports is deep-frozen and seen by every
 * workflow.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

// One hash here: webpack drops a preloaded module's imports when nothing uses them (and would then inline @noble/hashes
// into the per-workflow code), and it checks at preload that the library runs before any workflow does.
bytesToHex(sha256(utf8ToBytes('')));
