/**
 * The one place this suite names the plugin contract. Everything else imports from here, so moving the
 * suite out of the tree means changing this line to `export * from 'imgtest/suite-api';`.
 */
export * from '../../src/suite-api/index.js';
