//! `kiln run FILE --invoke NAME [ARGS...]`: compile, instantiate and call one export.

use kiln_engine::decoder::ValType;
use kiln_engine::runtime::{Imports, Store, Value};
use kiln_engine::{Engine, EngineConfig, Tier};
use std::path::Path;

/// Parsed command line of `kiln run`.
struct Options {
    file: String,
    invoke: String,
    args: Vec<String>,
    tier: Tier,
    /// Baseline first, hot functions moved to the optimizing tier in the background.
    tiered: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut file = None;
    let mut invoke = None;
    let mut rest = Vec::new();
    let mut tier = Tier::Baseline;
    let mut tiered = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--invoke" => {
                invoke = Some(args.next().ok_or("--invoke needs a function name")?.clone())
            }
            "--tier" => match args.next().map(String::as_str) {
                Some("baseline") => (tier, tiered) = (Tier::Baseline, false),
                Some("opt") => (tier, tiered) = (Tier::Optimized, false),
                Some("tiered") => (tier, tiered) = (Tier::Baseline, true),
                other => {
                    return Err(format!(
                        "unknown tier {other:?}: expected baseline, opt or tiered"
                    ));
                }
            },
            _ if file.is_none() => file = Some(arg.clone()),
            _ => rest.push(arg.clone()),
        }
    }
    Ok(Options {
        file: file.ok_or("missing FILE")?,
        invoke: invoke.ok_or("missing --invoke NAME")?,
        args: rest,
        tier,
        tiered,
    })
}

/// Parses `text` as a value of type `ty`.
fn parse_value(text: &str, ty: ValType) -> Result<Value, String> {
    let bad = |e: &dyn std::fmt::Display| format!("argument `{text}` is not a valid {ty}: {e}");
    Ok(match ty {
        ValType::I32 => Value::I32(
            parse_int(text)
                .and_then(|v| {
                    i32::try_from(v)
                        .or_else(|_| u32::try_from(v).map(|u| u as i32))
                        .map_err(|e| e.to_string())
                })
                .map_err(|e| bad(&e))?,
        ),
        ValType::I64 => Value::I64(
            parse_int(text)
                .and_then(|v| {
                    i64::try_from(v)
                        .or_else(|_| u64::try_from(v).map(|u| u as i64))
                        .map_err(|e| e.to_string())
                })
                .map_err(|e| bad(&e))?,
        ),
        ValType::F32 => Value::F32(text.parse::<f32>().map_err(|e| bad(&e))?.to_bits()),
        ValType::F64 => Value::F64(text.parse::<f64>().map_err(|e| bad(&e))?.to_bits()),
        other => {
            return Err(format!(
                "parameters of type {other} cannot be given on the command line"
            ));
        }
    })
}

/// A decimal or `0x` hexadecimal integer, possibly negative.
fn parse_int(text: &str) -> Result<i128, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.parse::<i128>(),
    }
    .map_err(|e| e.to_string())?;
    Ok(if negative { -value } else { value })
}

/// A result as `kiln run` prints it: integers in decimal, floats in Rust's `{}` form.
fn format_value(value: &Value) -> String {
    match value {
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::F32(bits) => f32::from_bits(*bits).to_string(),
        Value::F64(bits) => f64::from_bits(*bits).to_string(),
        Value::V128(v) => format!("0x{v:032x}"),
        Value::FuncRef(None) | Value::ExternRef(0) => "null".to_string(),
        Value::FuncRef(Some(_)) => "funcref".to_string(),
        Value::ExternRef(h) => format!("externref {h}"),
    }
}

/// Runs the command; returns the exit status.
pub fn run(args: &[String]) -> i32 {
    match try_run(args) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            0
        }
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

fn try_run(args: &[String]) -> Result<Vec<String>, String> {
    let options = parse(args)?;
    let wasm = crate::input::read_module(Path::new(&options.file))?;
    let engine = Engine::new(EngineConfig {
        tier: options.tier,
        dynamic_tiering: options.tiered,
        ..EngineConfig::default()
    });
    let module = engine
        .compile(&wasm)
        .map_err(|e| format!("{}: {e}", options.file))?;
    let store = Store::new(engine.runtime());
    let instance = module
        .instantiate(&store, &Imports::new())
        .map_err(|e| format!("{}: instantiation failed: {e}", options.file))?;
    let func = instance.get_func(&options.invoke).ok_or_else(|| {
        format!(
            "{}: no exported function `{}`",
            options.file, options.invoke
        )
    })?;
    let params = func.ty().params().to_vec();
    if params.len() != options.args.len() {
        return Err(format!(
            "`{}` takes {} arguments ({:?}), {} given",
            options.invoke,
            params.len(),
            params,
            options.args.len()
        ));
    }
    let args = options
        .args
        .iter()
        .zip(params)
        .map(|(a, ty)| parse_value(a, ty))
        .collect::<Result<Vec<_>, _>>()?;
    let results = func.call(&args).map_err(|trap| format!("trap: {trap}"))?;
    Ok(results.iter().map(format_value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments_of_every_type() {
        assert_eq!(parse_value("-5", ValType::I32), Ok(Value::I32(-5)));
        assert_eq!(parse_value("0xffffffff", ValType::I32), Ok(Value::I32(-1)));
        assert_eq!(
            parse_value("4294967296", ValType::I64),
            Ok(Value::I64(1 << 32))
        );
        assert_eq!(
            parse_value("1.5", ValType::F64),
            Ok(Value::F64(1.5f64.to_bits()))
        );
        assert!(parse_value("4294967296", ValType::I32).is_err());
        assert!(parse_value("x", ValType::F32).is_err());
    }

    #[test]
    fn formats_results() {
        assert_eq!(format_value(&Value::I64(-3)), "-3");
        assert_eq!(format_value(&Value::F32(2.5f32.to_bits())), "2.5");
        assert_eq!(format_value(&Value::F64(f64::NAN.to_bits())), "NaN");
    }
}
