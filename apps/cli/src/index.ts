export { main, cli } from './main';
