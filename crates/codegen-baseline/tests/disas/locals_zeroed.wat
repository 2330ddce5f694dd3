;; Declared locals: up to four start as constant zeros (no code); more start in zeroed slots,
;; stored one by one up to eight, by a loop beyond.
(module
  (func (param i32) (result i32) (local i32 i64 f32 f64)
    (local.get 1))
  (func (result i64) (local i64 i64 i64 i64 i64 i64)
    (local.get 5))
  (func (result i64) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local.get 11)))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 80 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,50h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      000000000000002Fh
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: xor     eax,eax
;;     26: mov     rbx,[rbp-8]
;;     2a: mov     rsp,rbp
;;     2d: pop     rbp
;;     2e: ret
;;     2f: ud2  ; trap: StackOverflow
;; function 1: frame 96 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,60h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      000000000000005Fh
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     qword ptr [rbp-28h],0
;;     2a: mov     qword ptr [rbp-30h],0
;;     32: mov     qword ptr [rbp-38h],0
;;     3a: mov     qword ptr [rbp-40h],0
;;     42: mov     qword ptr [rbp-48h],0
;;     4a: mov     qword ptr [rbp-50h],0
;;     52: mov     rax,[rbp-50h]
;;     56: mov     rbx,[rbp-8]
;;     5a: mov     rsp,rbp
;;     5d: pop     rbp
;;     5e: ret
;;     5f: ud2  ; trap: StackOverflow
;; function 2: frame 144 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,90h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000045h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     r11,0FFFFFFFFFFFFFFF4h
;;     29: mov     qword ptr [rbp+r11*8-20h],0
;;     32: add     r11,1
;;     36: jne     short 0000000000000029h
;;     38: mov     rax,[rbp-80h]
;;     3c: mov     rbx,[rbp-8]
;;     40: mov     rsp,rbp
;;     43: pop     rbp
;;     44: ret
;;     45: ud2  ; trap: StackOverflow
