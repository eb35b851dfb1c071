/** The NTLM messages of @ewsjs/ntlm-client (it ships no types): the calls Voicegate makes. */
declare module '@ewsjs/ntlm-client' {
  export interface Type2Message {
    flags: number;
    encoding: 'ascii' | 'ucs2';
    version: 1 | 2;
    challenge: Buffer;
    targetName: string;
  }
  const ntlm: {
    /** `NTLM <base64>`: the NEGOTIATE_MESSAGE. */
    createType1Message(workstation?: string, target?: string): string;
    /** The CHALLENGE_MESSAGE of a `WWW-Authenticate: NTLM <base64>` header. */
    decodeType2Message(header: string): Type2Message;
    /** `NTLM <base64>`: the AUTHENTICATE_MESSAGE (NTLMv2 when the challenge offers it). */
    createType3Message(
      type2: Type2Message,
      username: string,
      password: string,
      workstation?: string,
      target?: string,
    ): string;
  };
  export default ntlm;
}
