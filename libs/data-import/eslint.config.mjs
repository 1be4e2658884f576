import baseConfig, { libConfig } from '../../eslint.config.mjs';

export default [...baseConfig, ...libConfig];
