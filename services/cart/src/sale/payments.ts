/** A way to pay, from the payment master. */
export interface PaymentMethod {
  readonly code: string;
  readonly name: string;
  /** Only cash can be handed over beyond the balance; the difference goes back as change. */
  readonly mayExceedBalance: boolean;
}

// A constant table: these codes are part of the API contract (PaymentInput in cart_service.proto).
const methods: readonly PaymentMethod[] = [
  { code: "01", name: "cash", mayExceedBalance: true },
  { code: "11", name: "credit card", mayExceedBalance: false },
  { code: "12", name: "e-money", mayExceedBalance: false },
  { code: "21", name: "gift card", mayExceedBalance: false },
];

const byCode = new Map(methods.map((m) => [m.code, m]));

export function findPaymentMethod(code: string): PaymentMethod | undefined {
  return byCode.get(code);
}

/** "01 (cash), 11 (credit card), …" - for messages that tell the caller what to send. */
export function describePaymentCodes(): string {
  return methods.map((m) => `${m.code} (${m.name})`).join(", ");
}
