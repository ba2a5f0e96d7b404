/** The bundled page script, written by build.mjs. */
declare const script: string;
export default script;
