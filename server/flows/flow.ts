/** A validated flow, ready to run. */
export interface Step {
  /** The name other steps jump to; null for a step only reached by falling through. */
  id: string | null;
  action: string;
  params: unknown;
  /** Where to go after it (default: the following step). */
  next: string | null;
  /** `flows.sales.steps[2]`, for logs and errors. */
  path: string;
}

export interface Flow {
  name: string;
  description: string;
  /** Numbers that start it (auto attendants, hunt group pilots). */
  numbers: string[];
  /** Mailboxes and groups whose callers get this flow instead of the built-in leave-message. */
  mailboxes: string[];
  /** Language of its prompts when the call names none; null = the mailbox's or the default. */
  language: string | null;
  steps: Step[];
  builtin: boolean;
}

/** A loaded flows file: its flows by name and by start number. */
export interface FlowBook {
  flows: Map<string, Flow>;
  byNumber: Map<string, Flow>;
  /** The file it came from; null for the built-in flows only. */
  source: string | null;
}
