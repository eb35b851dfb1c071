import type { ActionDef } from '../action.ts';
import { collectMessages } from './collect-messages.ts';
import { email } from './email.ts';
import { goto } from './goto.ts';
import { hangup } from './hangup.ts';
import { leaveMessage } from './leave-message.ts';
import { menu } from './menu.ts';
import { play } from './play.ts';
import { speak } from './speak.ts';
import { timeCondition } from './time-condition.ts';
import { transfer } from './transfer.ts';
import { voiceQuestion } from './voice-question.ts';

/** Every action a step may use, by the key it is written with in YAML. */
export const ACTIONS: ReadonlyMap<string, ActionDef> = new Map([
  ['play', play],
  ['speak', speak],
  ['menu', menu],
  ['leave-message', leaveMessage],
  ['collect-messages', collectMessages],
  ['voice-question', voiceQuestion],
  ['email', email],
  ['transfer', transfer],
  ['time-condition', timeCondition],
  ['goto', goto],
  ['hangup', hangup],
]);
