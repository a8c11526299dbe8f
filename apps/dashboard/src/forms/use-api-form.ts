import { ApiError } from '@gatehouse/api-client';
import type { ErrorDetail } from '@gatehouse/contracts';
import { useForm, type FormRulesRecord, type UseFormReturnType } from '@mantine/form';
import { useRef, useState, type FormEvent } from 'react';

/** A refusal, or the part of it, that no field of the form can show: for the alert above the buttons. */
export interface UnplacedProblem {
  error: unknown;
  /** The details of an ApiError that name no field of the form. */
  details: readonly ErrorDetail[];
}

/** Where one detail of a refusal is shown, and in which words. */
export interface PlacedDetail<Field extends string> {
  field: Field;
  message: string;
}

export interface ServerErrorPlacement<Field extends string> {
  /** Field → its message (several details on one field are joined). */
  fieldErrors: ReadonlyMap<Field, string>;
  unplaced: UnplacedProblem | null;
}

export interface ApiErrorPlacementOptions<Values, Field extends string> {
  /** Refusals without details that still concern one field (ENDPOINT_URL_TAKEN → url). */
  fieldOfErrorCode?: Readonly<Record<string, Field>>;
  /** Places a detail its own way (say, naming which address of a list is wrong); undefined leaves the default. */
  placeDetail?: (detail: ErrorDetail, values: Values) => PlacedDetail<Field> | undefined;
}

/**
 * Spreads an API refusal over a form: each detail goes to the field its `path` starts with (paths name the request
 * body's fields, which the forms' values are named after), or where `placeDetail` puts it. What no field takes is
 * left for an alert, and so is a refusal that put nothing on a field.
 */
export function placeServerError<Values, Field extends string>(
  error: unknown,
  values: Values,
  fields: readonly Field[],
  { fieldOfErrorCode = {}, placeDetail }: ApiErrorPlacementOptions<Values, Field> = {},
): ServerErrorPlacement<Field> {
  if (!(error instanceof ApiError)) return { fieldErrors: new Map(), unplaced: { error, details: [] } };
  const messages = new Map<Field, string[]>();
  const place = ({ field, message }: PlacedDetail<Field>) =>
    messages.set(field, [...(messages.get(field) ?? []), message]);
  const unplacedDetails: ErrorDetail[] = [];
  for (const detail of error.details) {
    const pathField = fields.find((field) => field === detail.path?.split('.')[0]);
    const placed = placeDetail?.(detail, values) ?? (pathField ? { field: pathField, message: detail.message } : null);
    if (placed) place(placed);
    else unplacedDetails.push(detail);
  }
  const codeField = fieldOfErrorCode[error.code];
  if (error.details.length === 0 && codeField !== undefined) place({ field: codeField, message: error.message });
  const fieldErrors = new Map([...messages].map(([field, texts]) => [field, texts.join('; ')] as const));
  const needsAlert = fieldErrors.size === 0 || unplacedDetails.length > 0;
  return { fieldErrors, unplaced: needsAlert ? { error, details: unplacedDetails } : null };
}

/** When a field's problem first shows (`submit`, the default, means on the first try to submit). */
export type CheckMoment = 'change' | 'blur' | 'submit';

export interface ApiFormInput<Values extends object> extends ApiErrorPlacementOptions<Values, keyof Values & string> {
  initialValues: Values;
  validate?: FormRulesRecord<Values>;
  /** When each rule's problem first shows; from then on the field is checked again on every change of the form. */
  checkOn?: Partial<Record<keyof Values & string, CheckMoment>>;
  /** Fields whose change makes the whole last refusal moot (what the API said about another endpoint type). */
  forgetServerErrorsOnChangeOf?: ReadonlyArray<keyof Values & string>;
}

/** getInputProps' handlers, which @mantine/form types as `any`: inputs call them with an event or a value. */
interface InputHandlers {
  onChange: (input: unknown) => void;
  onBlur?: (event: unknown) => void;
}

export type ApiForm<Values extends object> = UseFormReturnType<Values> & {
  /**
   * The form's submit handler: checks every rule, then calls `submit`; when that rejects with an ApiError, its
   * problems go onto their fields (form.setFieldError) and the rest into `unplacedProblem`.
   */
  submitWith: (submit: (values: Values) => Promise<unknown>) => (event?: FormEvent<HTMLFormElement>) => void;
  unplacedProblem: UnplacedProblem | null;
};

/**
 * @mantine/form for a form that submits to the API, with the dashboard's timing: nothing is flagged while the user
 * types a field for the first time; a problem shows when they leave the field (`checkOn: 'blur'`) or try to submit,
 * and from then on follows every change, so it goes as soon as it is fixed. A server error stays on its field until
 * that field changes.
 */
export function useApiForm<Values extends object>({
  initialValues,
  validate = {},
  checkOn = {},
  forgetServerErrorsOnChangeOf = [],
  ...placement
}: ApiFormInput<Values>): ApiForm<Values> {
  const momentOf = (field: string): CheckMoment => (checkOn as Partial<Record<string, CheckMoment>>)[field] ?? 'submit';
  const ruledFields = Object.keys(validate);
  // Refs: these decide what the next change checks; the checks themselves update the form's error state.
  const checkedFields = useRef(new Set(ruledFields.filter((field) => momentOf(field) === 'change')));
  const serverErrorFields = useRef(new Set<string>());
  const [unplacedProblem, setUnplacedProblem] = useState<UnplacedProblem | null>(null);

  const clearServerErrorsOf = (form: UseFormReturnType<Values>) => {
    for (const field of serverErrorFields.current) form.clearFieldError(field);
    serverErrorFields.current.clear();
    setUnplacedProblem(null);
  };

  const form = useForm<Values>({
    initialValues,
    validate,
    enhanceGetInputProps: ({ field, inputProps, form: self }) => {
      const { onChange, onBlur } = inputProps as InputHandlers;
      return {
        onChange: (input: unknown) => {
          onChange(input);
          if ((forgetServerErrorsOnChangeOf as readonly string[]).includes(field)) clearServerErrorsOf(self);
          serverErrorFields.current.delete(field);
          // Every checked field, not only this one: a rule may read other fields (the URL rule reads the type).
          for (const checked of checkedFields.current) {
            if (!serverErrorFields.current.has(checked)) self.validateField(checked);
          }
        },
        onBlur: (event: unknown) => {
          onBlur?.(event);
          if (momentOf(field) !== 'blur') return;
          // Tabbing through (or clicking past) a field not yet filled in is not a mistake: an empty field is
          // reported on submit, so a fresh form never greets the user in red.
          const value: unknown = (self.getValues() as Record<string, unknown>)[field];
          if (typeof value === 'string' && value.trim() === '' && !checkedFields.current.has(field)) return;
          checkedFields.current.add(field);
          if (!serverErrorFields.current.has(field)) self.validateField(field);
        },
      };
    },
  });

  const submitWith: ApiForm<Values>['submitWith'] = (submit) => (event) => {
    for (const field of ruledFields) checkedFields.current.add(field);
    // Validating replaces every error, the last refusal's included.
    serverErrorFields.current.clear();
    setUnplacedProblem(null);
    form.onSubmit(async (values) => {
      try {
        await submit(values);
      } catch (error) {
        const fields = Object.keys(initialValues) as Array<keyof Values & string>;
        const { fieldErrors, unplaced } = placeServerError(error, values, fields, placement);
        for (const [field, message] of fieldErrors) {
          form.setFieldError(field, message);
          serverErrorFields.current.add(field);
        }
        setUnplacedProblem(unplaced);
      }
    })(event);
  };

  return { ...form, submitWith, unplacedProblem };
}
