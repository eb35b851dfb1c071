/** js-md4 ships no types: the one call the NTLM test acceptor makes. */
declare module 'js-md4' {
  const md4: { arrayBuffer(message: Uint8Array): ArrayBuffer };
  export default md4;
}
